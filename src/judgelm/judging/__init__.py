"""The judging run: samples → requests → engine → judgements, resumable (SQLite state), cached, scaled out with Ray."""
