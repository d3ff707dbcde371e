"""Where checks come from: the NPI registry, the OIG exclusion list, and admins' manual checks."""
