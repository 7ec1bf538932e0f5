"""Auth methods, one package each: userpass, approle (plus shared token_* fields)."""
