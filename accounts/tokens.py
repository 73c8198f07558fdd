"""JWTs that can be revoked: each carries the user's token generation, and a token of an older
generation is refused everywhere (API authentication and refresh). Revoking every token of a user is
then one counter moved on (accounts.services.revoke_tokens), which stops access tokens too, whose
short life alone would leave them working for up to JWT_ACCESS_MINUTES."""

from __future__ import annotations

from rest_framework_simplejwt import tokens

GENERATION_CLAIM = "tgen"


class _GenerationClaim(tokens.Token):
    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.token_generation
        return token


class RefreshToken(tokens.RefreshToken, _GenerationClaim):
    """A refresh token stamped with the user's token generation. Its access tokens and the refresh
    tokens rotation makes from it copy the claim (simplejwt copies every claim but type, exp, iat, jti).
    The claim comes in below the blacklist mixin (method order: RefreshToken, BlacklistMixin,
    _GenerationClaim, Token), so the outstanding-token row records the token as issued."""


def is_current(token, user) -> bool:
    """Whether `token` was issued since `user`'s tokens were last revoked. A token without the claim
    (issued before it existed, or by simplejwt's own RefreshToken.for_user) counts as generation 0."""
    return token.get(GENERATION_CLAIM, 0) == user.token_generation
