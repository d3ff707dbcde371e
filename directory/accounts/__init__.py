"""Accounts: users, their roles, and the audit trail of what they did."""
