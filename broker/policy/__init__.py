"""Policy documents as plain data: keys' and buckets' policies, and the account's own two."""
