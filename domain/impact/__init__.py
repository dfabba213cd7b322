"""The impact engine: from the thread index, everything a change touches, with reasons and an
explainable risk score."""
