"""Model families trunkml ships: ready-made training code a job's entrypoint can call.

* ``tfidf``: word and character TF-IDF n-grams with class-weighted logistic regression, a threshold
  tuned out-of-fold, long texts scored in word windows, exact per-feature explanations.
* ``transformer``: a fine-tuned BERT-like encoder (needs the ``transformers`` extra).

Both return a :class:`~trunkml.training.ModelPackage` whose pyfunc loads JSON, npz or safetensors
files (never a pickle) and imports its code from the installed trunkml, so a served model needs
trunkml beside MLflow. Each family's module imports only when a job selects it.
"""
