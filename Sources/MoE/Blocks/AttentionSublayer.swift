import Linalg

/// The attention half of a decoder block.
public enum AttentionSublayer<Scalar: BLASScalar>: Sendable {
  /// Multi-head or grouped-query attention (optionally windowed or head-sparse).
  case grouped(MultiHeadAttention<Scalar>)
  /// Multi-head latent attention.
  case latent(MultiHeadLatentAttention<Scalar>)
  /// A recurrent mixer (Qwen3-Next's Gated DeltaNet, Jamba's Mamba; inference only).
  case recurrent(any RecurrentLayer<Scalar>)
}
