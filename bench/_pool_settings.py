"""Settings of the outbox bench's pool workers: the primary signer plus anvil dev accounts 1..3 (their
keys are public) as SIGNER_POOL_PRIVATE_KEYS. Which of them take intents is the SignerLane rows' say."""

from config.settings import *  # noqa: F403

SIGNER_POOL_PRIVATE_KEYS = [
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",  # anvil account 1
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",  # anvil account 2
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",  # anvil account 3
]
