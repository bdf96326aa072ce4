"""The 20 Newsgroups lab: data preparation (``prepare``) and its archive handling (``data``)."""
