"""The two columns every loaded dataset has, whatever its file calls them."""

TEXT = "text"
LABEL = "label"
