module distribution-registry/tests/engine/images/pause

go 1.26.0
