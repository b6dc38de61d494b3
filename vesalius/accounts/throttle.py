"""Sign-in throttling per account and per client address, with a growing delay.

After ``free`` failures inside the window, each further failure blocks the key for
``base * 2**(failures - free)`` seconds, up to ``max``. A success clears the account.
"""

from vesalius.common.counters import CounterStore
from vesalius.common.errors import TooManyRequests
from vesalius.config import Settings


class LoginThrottle:
    def __init__(self, store: CounterStore, settings: Settings) -> None:
        self._store = store
        self._window = settings.login_window_seconds
        self._free_account = settings.login_free_attempts
        self._free_ip = settings.login_ip_free_attempts
        self._base = settings.login_lockout_base_seconds
        self._max = settings.login_lockout_max_seconds

    @staticmethod
    def _keys(email: str, ip: str | None) -> tuple[str, str]:
        return f"login:account:{email}", f"login:ip:{ip or 'unknown'}"

    def check(self, email: str, ip: str | None) -> None:
        account_key, ip_key = self._keys(email, ip)
        wait = max(self._store.blocked_for(account_key), self._store.blocked_for(ip_key))
        if wait > 0:
            raise TooManyRequests(
                f"Too many failed sign-in attempts. Try again in {int(wait + 0.999)} seconds.",
                code="too_many_attempts",
                retry_after=wait,
            )

    def record_failure(self, email: str, ip: str | None) -> None:
        account_key, ip_key = self._keys(email, ip)
        for key, free in ((account_key, self._free_account), (ip_key, self._free_ip)):
            failures = self._store.increment(key, self._window)
            if failures >= free:
                delay = min(self._max, self._base * 2 ** (failures - free))
                self._store.block(key, delay)

    def record_success(self, email: str) -> None:
        account_key, _ = self._keys(email, None)
        self._store.reset(account_key)
