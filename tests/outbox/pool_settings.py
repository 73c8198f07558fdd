"""Settings of a worker process that signs with the test signer pool (anvil dev accounts 1..3, whose
keys are public) besides the primary signer: `DJANGO_SETTINGS_MODULE=tests.outbox.pool_settings`."""

from config.settings import *  # noqa: F403
from tests.outbox.pool import POOL_PRIVATE_KEYS

SIGNER_POOL_PRIVATE_KEYS = POOL_PRIVATE_KEYS
