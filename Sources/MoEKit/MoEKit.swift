// The umbrella module: `import MoEKit` brings in every library module, and nothing else
// lives here.
@_exported import CostModel
@_exported import Evaluation
@_exported import Linalg
@_exported import MoE
@_exported import ModelIO
@_exported import Report
@_exported import Serving
