"""Users, sign-in (passwords, TOTP, rotating refresh tokens), roles and user administration."""
