"""Django's SQLite backend, making the database file's directory (var/ by default) when it first connects,
so that nothing is written when settings are merely read."""
