"""Vetting: join requests, their validation, admins' decisions and provisioning of members."""
