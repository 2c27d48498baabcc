import CKernels

// `Float`'s element-wise kernels: the activations of gated experts (`silu`, `sigmoid`) and
// the exponentials of softmax rows run the vectorised C kernels (`mk_silu`, `mk_sigmoid`,
// `mk_silu_multiply`, `mk_exp_shifted_sum`: AVX2 + FMA with a portable fallback, within a
// few ulp of the scalar functions), which `gemm-bench` measures at 9–12× the scalar loop;
// everything else takes the generic loops.
extension Float {
  /// `mk_silu`/`mk_sigmoid` for those functions, the generic loop otherwise.
  public static func _applyKernel(
    _ x: UnsafeMutableBufferPointer<Float>, _ function: ElementwiseFunction, derivative: Bool
  ) {
    guard let base = x.baseAddress, !derivative else {
      return _applyLoop(x, function, derivative: derivative)
    }
    switch function {
    case .silu: mk_silu(base, x.count)
    case .sigmoid: mk_sigmoid(base, x.count)
    default: _applyLoop(x, function, derivative: false)
    }
  }

  /// `mk_exp_shifted_sum`: the exponentials of a softmax row, 8 lanes at a time.
  public static func _expShiftedSum(_ row: UnsafeMutableBufferPointer<Float>, shift: Float) -> Float {
    guard let base = row.baseAddress else { return 0 }
    return mk_exp_shifted_sum(base, row.count, shift)
  }

  /// `mk_silu_multiply` for SwiGLU, the generic loop otherwise.
  public static func _applyGatedKernel(
    _ g: UnsafeMutableBufferPointer<Float>, _ u: UnsafeBufferPointer<Float>, _ function: ElementwiseFunction
  ) {
    guard function == .silu, let base = g.baseAddress, let up = u.baseAddress else {
      return _applyGatedLoop(g, u, function)
    }
    mk_silu_multiply(base, up, g.count)
  }
}
