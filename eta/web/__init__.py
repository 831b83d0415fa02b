"""The web layer every room shares: errors, problems, security headers, sessions, i18n, health."""
