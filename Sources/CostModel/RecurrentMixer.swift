/// A sequence mixer that carries a fixed-size state from token to token instead of a
/// cache that grows with the context, as far as its cost is concerned. Each token costs
/// the same at any context; the state is what a decode keeps per sequence.
///
/// - `gatedDeltaNet`: Qwen3-Next's linear attention (Gated DeltaNet; Yang, Kautz and
///   Hatamizadeh 2024, arXiv 2412.06464): `in_proj_qkvz` `d → 2·kh·kd + 2·vh·vd`,
///   `in_proj_ba` `d → 2·vh`, a depthwise causal convolution of `convKernel` over the
///   `2·kh·kd + vh·vd` q/k/v channels (no bias), `dt_bias` and `A_log` per value head, a
///   gated RMSNorm of `vd`, `out_proj` `vh·vd → d`. State: `vh · kd · vd` plus the
///   convolution's last `convKernel − 1` inputs. Per token each value head reads and
///   updates its `kd × vd` state three times (the delta rule's `S·k`, the rank-one update,
///   the read-out `Sᵀ·q`).
/// - `mamba`: Jamba's Mamba layers (Gu and Dao 2023, arXiv 2312.00752; Lieber et al. 2024,
///   arXiv 2403.19887): `in_proj` `d → 2·inner`, a depthwise convolution of `convKernel`
///   over `inner` channels, `x_proj` `inner → dtRank + 2·stateDim`, `dt_proj`
///   `dtRank → inner` with bias, `A_log` `inner × stateDim`, `D` `inner`, `out_proj`
///   `inner → d`, and Jamba's RMSNorms of `dtRank`, `stateDim`, `stateDim`. State:
///   `inner · stateDim` plus `inner · (convKernel − 1)`. Per token the selective scan
///   takes three multiply-adds per state element (decay, input, read-out).
/// - `mamba2`: Granite-4's Mamba-2 layers (Dao and Gu 2024, arXiv 2405.21060): `heads` of
///   `headDim` (`inner = heads·headDim`), `groups` groups of B and C of `stateDim`;
///   `in_proj` `d → 2·inner + 2·groups·stateDim + heads`, a depthwise convolution of
///   `convKernel` over `inner + 2·groups·stateDim` channels, `dt_bias`, `A_log` and `D` per
///   head, a gated RMSNorm of `inner`, `out_proj` `inner → d`. State: `heads·headDim·
///   stateDim` plus the convolution's last `convKernel − 1` inputs; three multiply-adds per
///   state element per token.
/// - `lightning`: MiniMax's lightning attention (Qin et al. 2024, arXiv 2401.04658;
///   MiniMax-01, arXiv 2501.08313): `qkv_proj` `d → 3·heads·headDim`, `output_gate`
///   `d → heads·headDim`, an RMSNorm of `heads·headDim`, `out_proj` `heads·headDim → d`.
///   State: `heads · headDim²`; per token each head updates and reads it once each. Its
///   decay tables are constants derived from the head count, not weights.
public enum RecurrentMixer: Sendable, Equatable {
  /// Gated DeltaNet with `keyHeads` of `keyHeadDim` and `valueHeads` of `valueHeadDim`.
  case gatedDeltaNet(keyHeads: Int, keyHeadDim: Int, valueHeads: Int, valueHeadDim: Int, convKernel: Int)
  /// Mamba of `inner` channels (`expand·d`), with biases on the convolution and on the
  /// in/out projections as `convBias` and `projectionBias` say.
  case mamba(inner: Int, stateDim: Int, convKernel: Int, dtRank: Int, convBias: Bool, projectionBias: Bool)
  /// Mamba-2 with `heads` of `headDim` and `groups` of `stateDim`.
  case mamba2(
    heads: Int, headDim: Int, stateDim: Int, groups: Int, convKernel: Int, convBias: Bool,
    projectionBias: Bool)
  /// Lightning attention with `heads` of `headDim`.
  case lightning(heads: Int, headDim: Int)

  /// Weights of one layer for a model of width `d`.
  public func parameters(width d: Int) -> Int {
    switch self {
    case .gatedDeltaNet(let kh, let kd, let vh, let vd, let kernel):
      let projections = d * (2 * kh * kd + 2 * vh * vd) + d * 2 * vh + vh * vd * d
      return projections + (2 * kh * kd + vh * vd) * kernel + 2 * vh + vd
    case .mamba(let inner, let state, let kernel, let rank, let convBias, let projectionBias):
      let projections = d * 2 * inner + inner * (rank + 2 * state) + rank * inner + inner + inner * d
      let convolution = inner * kernel + (convBias ? inner : 0)
      return projections + convolution + (projectionBias ? 2 * inner + d : 0) + inner * state + inner
        + rank + 2 * state
    case .mamba2(let h, let hd, let state, let groups, let kernel, let convBias, let projectionBias):
      let inner = h * hd
      let channels = inner + 2 * groups * state
      let input = 2 * inner + 2 * groups * state + h
      return d * input + channels * kernel + (convBias ? channels : 0) + 3 * h + inner + inner * d
        + (projectionBias ? input + d : 0)
    case .lightning(let h, let hd):
      return d * 3 * h * hd + d * h * hd + h * hd + h * hd * d
    }
  }

  /// Scalars of the state one sequence carries.
  public var stateScalars: Int {
    switch self {
    case .gatedDeltaNet(let kh, let kd, let vh, let vd, let kernel):
      vh * kd * vd + (2 * kh * kd + vh * vd) * (kernel - 1)
    case .mamba(let inner, let state, let kernel, _, _, _): inner * state + inner * (kernel - 1)
    case .mamba2(let h, let hd, let state, let groups, let kernel, _, _):
      h * hd * state + (h * hd + 2 * groups * state) * (kernel - 1)
    case .lightning(let h, let hd): h * hd * hd
    }
  }

  /// Multiply-adds per token beyond the projections: the state's update and read-out and
  /// the convolution.
  public var mixingMultiplyAdds: Int {
    switch self {
    case .gatedDeltaNet(let kh, let kd, let vh, let vd, let kernel):
      3 * vh * kd * vd + (2 * kh * kd + vh * vd) * kernel
    case .mamba(let inner, let state, let kernel, _, _, _): 3 * inner * state + inner * kernel
    case .mamba2(let h, let hd, let state, let groups, let kernel, _, _):
      3 * h * hd * state + (h * hd + 2 * groups * state) * kernel
    case .lightning(let h, let hd): 2 * h * hd * hd
    }
  }
}
