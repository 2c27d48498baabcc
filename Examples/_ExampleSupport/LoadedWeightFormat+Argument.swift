import ArgumentParser
import ModelIO

/// `--weight-format` as the examples that load whole models take it.
extension HuggingFaceCheckpoint.LoadedWeightFormat: ExpressibleByArgument {}
