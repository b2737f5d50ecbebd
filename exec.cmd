@rem "npm start" on Windows: cmd.exe has no "exec" (package.json needs it on macOS/Linux so that npm
@rem forwards Ctrl-C / SIGTERM to the server itself, not to a shell that swallows them). Run the rest of the line.
@%*
