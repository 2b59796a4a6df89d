"""`trunkml init`: a new project rendered from template files shipped with trunkml."""
