"""The programme's rules, called by the routes, the CLI and the jobs; they use the models, the analytics, app/chain."""
