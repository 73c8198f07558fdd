from django.urls import path

from wallets.views import WalletBalancesView

urlpatterns = [
    path("<str:address>/balances/", WalletBalancesView.as_view(), name="wallet-balances"),
]
