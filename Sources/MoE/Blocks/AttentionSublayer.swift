import Linalg

/// The attention half of a decoder block.
public enum AttentionSublayer<Scalar: BLASScalar>: Sendable {
  /// Multi-head or grouped-query attention (optionally windowed or head-sparse).
  case grouped(MultiHeadAttention<Scalar>)
  /// Multi-head latent attention.
  case latent(MultiHeadLatentAttention<Scalar>)
  /// Gated DeltaNet linear attention (Qwen3-Next's hybrid layers; inference only).
  case gatedDeltaNet(GatedDeltaNet<Scalar>)
}
