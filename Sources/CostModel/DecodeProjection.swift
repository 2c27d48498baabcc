/// A roofline projection of one decode step: the larger of the time the arithmetic takes
/// at peak and the time the bytes take to stream at full bandwidth (Williams, Waterman &
/// Patterson 2009, "Roofline").
public struct DecodeProjection: Sendable, Equatable {
  /// FLOPs of the step (`batch` tokens).
  public var flops: Double
  /// Bytes the step reads.
  public var bytes: Double
  /// `flops / peak`.
  public var computeSeconds: Double
  /// `bytes / bandwidth`.
  public var memorySeconds: Double

  /// The step's time, which is each sequence's time per generated token.
  public var seconds: Double { Swift.max(computeSeconds, memorySeconds) }
  /// Whether memory, not arithmetic, sets the time.
  public var isMemoryBound: Bool { memorySeconds >= computeSeconds }

  /// Projects a decode step of `batch` sequences at `context` on `hardware` with weights
  /// and cache in `dataType`.
  public init(
    _ architecture: Architecture, on hardware: HardwareProfile, batch: Int, context: Int, dataType: DataType
  ) {
    flops = Double(batch) * architecture.forwardFLOPsPerToken(context: context)
    bytes = architecture.bytesReadPerDecodeStep(batch: batch, context: context, dataType: dataType)
    computeSeconds = flops / hardware.peakFLOPS(dataType)
    memorySeconds = bytes / hardware.memoryBandwidth
  }
}
