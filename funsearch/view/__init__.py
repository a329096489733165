"""`funsearch view`: a local web page (or one offline HTML file) of a run or a sweep, built from the stores."""
