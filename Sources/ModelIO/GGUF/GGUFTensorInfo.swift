/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
  /// The dimensions as GGUF lists them, innermost (contiguous) first: `[columns, rows, …]`.
  public var dimensions: [Int]
  /// The element type.
  public var type: GGMLType
  /// Where the bytes start, relative to the data section.
  public var offset: Int
  /// How many bytes the tensor takes.
  public var byteCount: Int

  /// The dimensions outermost first, as PyTorch and safetensors write them.
  public var shape: [Int] { dimensions.reversed() }
  /// The number of elements.
  public var count: Int { dimensions.reduce(1, *) }
}
