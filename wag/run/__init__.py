"""The top floor below the command line: profiles, notebook set-up, notebook conventions, `wag reproduce`."""
