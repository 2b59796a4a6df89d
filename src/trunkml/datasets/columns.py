"""The two columns every loaded dataset has, under any names its file uses."""

TEXT = "text"
LABEL = "label"
