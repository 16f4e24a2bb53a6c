"""Device registration (F9): where a member's push notifications go, keyed by a hash of the
app's installation id (the policy's "kryptert ID")."""
