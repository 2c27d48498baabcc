/// A machine for roofline projections: peak dense matrix throughput per number format and
/// memory bandwidth.
public struct HardwareProfile: Sendable, Equatable {
  /// A short name used on the command line.
  public var name: String
  /// Peak dense FLOP/s for bf16/fp16 (or the format the machine computes in).
  public var peakFLOPS16: Double
  /// Peak dense FLOP/s for fp8, or `nil` when the machine has no fp8 units (then fp8 and
  /// int4 weights are dequantised and computed at the 16-bit rate).
  public var peakFLOPS8: Double?
  /// Peak FLOP/s for fp32 arithmetic (tensor-core TF32 is not assumed).
  public var peakFLOPS32: Double
  /// Memory bandwidth in bytes per second.
  public var memoryBandwidth: Double
  /// Memory capacity in bytes.
  public var memoryCapacity: Double
  /// Where the figures come from.
  public var source: String

  /// A profile from its figures.
  public init(
    name: String, peakFLOPS16: Double, peakFLOPS8: Double?, peakFLOPS32: Double, memoryBandwidth: Double,
    memoryCapacity: Double, source: String
  ) {
    self.name = name
    self.peakFLOPS16 = peakFLOPS16
    self.peakFLOPS8 = peakFLOPS8
    self.peakFLOPS32 = peakFLOPS32
    self.memoryBandwidth = memoryBandwidth
    self.memoryCapacity = memoryCapacity
    self.source = source
  }

  /// Peak dense FLOP/s for computing with weights stored in `dataType`.
  public func peakFLOPS(_ dataType: DataType) -> Double {
    switch dataType {
    case .fp32: peakFLOPS32
    case .bf16, .fp16: peakFLOPS16
    case .fp8, .int4: peakFLOPS8 ?? peakFLOPS16
    }
  }

  /// NVIDIA H100 SXM5 80 GB: 989 TFLOP/s dense BF16, 1979 dense FP8, 67 FP32, 3.35 TB/s
  /// HBM3 (NVIDIA H100 Tensor Core GPU datasheet; the sheet's 2× figures assume 2:4
  /// sparsity and are halved here).
  public static let h100 = HardwareProfile(
    name: "h100-sxm", peakFLOPS16: 989e12, peakFLOPS8: 1979e12, peakFLOPS32: 67e12, memoryBandwidth: 3.35e12,
    memoryCapacity: 80e9, source: "NVIDIA H100 Tensor Core GPU datasheet (SXM5), dense figures")

  /// NVIDIA A100 SXM4 80 GB: 312 TFLOP/s dense BF16, 19.5 FP32, 2.039 TB/s HBM2e, no FP8
  /// (NVIDIA A100 Tensor Core GPU datasheet).
  public static let a100 = HardwareProfile(
    name: "a100-sxm", peakFLOPS16: 312e12, peakFLOPS8: nil, peakFLOPS32: 19.5e12, memoryBandwidth: 2.039e12,
    memoryCapacity: 80e9, source: "NVIDIA A100 Tensor Core GPU datasheet (SXM4 80GB), dense figures")

  /// NVIDIA GeForce RTX 4090: 165 TFLOP/s dense FP16/BF16 tensor with FP32 accumulate,
  /// 330 dense FP8, 82.6 FP32, 1.008 TB/s GDDR6X, 24 GB (NVIDIA Ada Lovelace architecture
  /// whitepaper, appendix).
  public static let rtx4090 = HardwareProfile(
    name: "rtx4090", peakFLOPS16: 165.2e12, peakFLOPS8: 330.3e12, peakFLOPS32: 82.6e12,
    memoryBandwidth: 1.008e12,
    memoryCapacity: 24e9, source: "NVIDIA Ada GPU architecture whitepaper, RTX 4090 dense figures")

  /// The built-in published profiles.
  public static let builtIn: [HardwareProfile] = [h100, a100, rtx4090]
}
