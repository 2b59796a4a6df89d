"""The TF-IDF family: word + character n-grams and class-weighted logistic regression (``fit.train_tfidf``)."""
