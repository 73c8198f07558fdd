"""`GET /api/wallets/{address}/balances/`."""

from __future__ import annotations

import logging

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blockchain.chain.addresses import InvalidAddress, normalize_address
from blockchain.chain.fields import address_schema
from core.api import PUBLIC_CHAIN_UNAVAILABLE, ChainUnavailable, DomainError, NotAllowed
from core.log_format import describe_error
from wallets.balances import get_balances
from wallets.serializers import BalanceSerializer, BalancesQuerySerializer

logger = logging.getLogger(__name__)


class WalletBalancesView(APIView):
    """`GET /api/wallets/{address}/balances/`: the wallet's owner or an operator. Cached; `?verify=1`
    reads the chain (and refreshes the cache)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("address", type=address_schema(allow_zero=True), location=OpenApiParameter.PATH),
            BalancesQuerySerializer,
        ],
        responses=BalanceSerializer(many=True),
    )
    def get(self, request: Request, address: str) -> Response:
        try:
            address = normalize_address(address, allow_zero=True)
        except InvalidAddress as exc:
            raise DomainError(str(exc), code="invalid", errors={"address": str(exc)}) from None
        user = request.user
        owns = user.wallet_verified and user.wallet_address == address
        if not (owns or user.has_role("operator")):
            raise NotAllowed("Only the wallet's owner or an operator may see its balances.")
        query = BalancesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            views = get_balances(address, verify=query.validated_data["verify"])
        except Exception as exc:
            logger.warning("balance chain read failed: %s", describe_error(exc))
            raise ChainUnavailable(PUBLIC_CHAIN_UNAVAILABLE) from exc
        return Response(BalanceSerializer(views, many=True).data)
