import RealModule

// The generic element-wise loops behind `Matrix`; see the note in `BLASScalar.swift` on
// why they are protocol requirements. Pointers are row-major with `columns` per row.

extension BLASScalar {
  /// See `BLASScalar._applyKernel`.
  public static func _applyKernel(
    _ x: UnsafeMutableBufferPointer<Self>, _ function: ElementwiseFunction, derivative: Bool
  ) {
    _applyLoop(x, function, derivative: derivative)
  }

  /// The scalar loop behind `_applyKernel`, for conformances that vectorise some cases.
  @inline(__always)
  static func _applyLoop(
    _ x: UnsafeMutableBufferPointer<Self>, _ function: ElementwiseFunction, derivative: Bool
  ) {
    if derivative {
      for i in x.indices { x[i] = function.derivative(x[i]) }
    } else {
      for i in x.indices { x[i] = function(x[i]) }
    }
  }

  /// See `BLASScalar._applyGatedKernel`.
  public static func _applyGatedKernel(
    _ g: UnsafeMutableBufferPointer<Self>, _ u: UnsafeBufferPointer<Self>, _ function: ElementwiseFunction
  ) {
    _applyGatedLoop(g, u, function)
  }

  /// The scalar loop behind `_applyGatedKernel`.
  @inline(__always)
  static func _applyGatedLoop(
    _ g: UnsafeMutableBufferPointer<Self>, _ u: UnsafeBufferPointer<Self>, _ function: ElementwiseFunction
  ) {
    for i in g.indices { g[i] = function(g[i]) * u[i] }
  }

  /// See `BLASScalar._combineKernel`.
  public static func _combineKernel(
    _ a: UnsafeMutableBufferPointer<Self>, _ b: UnsafeBufferPointer<Self>, columns: Int, broadcast: Bool,
    _ operation: _ElementwiseOperation
  ) {
    func run(_ combine: (Self, Self) -> Self) {
      if broadcast {
        for start in stride(from: 0, to: a.count, by: Swift.max(columns, 1)) {
          for j in 0..<columns { a[start + j] = combine(a[start + j], b[j]) }
        }
      } else {
        for i in a.indices { a[i] = combine(a[i], b[i]) }
      }
    }
    switch operation {
    case .add: run(+)
    case .subtract: run(-)
    case .multiply: run(*)
    }
  }

  /// See `BLASScalar._scaleRowsKernel`.
  public static func _scaleRowsKernel(
    _ a: UnsafeMutableBufferPointer<Self>, columns: Int, _ factors: UnsafeBufferPointer<Self>
  ) {
    for (i, factor) in factors.enumerated() {
      for j in 0..<columns { a[i * columns + j] *= factor }
    }
  }

  /// See `BLASScalar._expShiftedSum`.
  public static func _expShiftedSum(_ row: UnsafeMutableBufferPointer<Self>, shift: Self) -> Self {
    var sum: Self = 0
    for j in row.indices {
      let e = Self.exp(row[j] - shift)
      row[j] = e
      sum += e
    }
    return sum
  }

  /// See `BLASScalar._softmaxRowsKernel`.
  public static func _softmaxRowsKernel(_ a: UnsafeMutableBufferPointer<Self>, columns: Int, logarithm: Bool)
  {
    for start in stride(from: 0, to: a.count, by: Swift.max(columns, 1)) {
      let row = UnsafeMutableBufferPointer(rebasing: a[start..<start + columns])
      var m = -Self.infinity
      for x in row {
        if x.isNaN {
          m = .nan
          break
        }
        if x > m { m = x }
      }
      if m.isNaN {
        row.update(repeating: .nan)
      } else if m == -.infinity {
        row.update(repeating: logarithm ? -.infinity : 0)
      } else if m == .infinity {
        // The limit: equal shares among the +inf entries.
        let share = 1 / Self(row.count { $0 == .infinity })
        for j in row.indices {
          let p: Self = row[j] == .infinity ? share : 0
          row[j] = logarithm ? Self.log(p) : p
        }
      } else if logarithm {
        var sum: Self = 0
        for x in row { sum += Self.exp(x - m) }
        let lse = m + Self.log(sum)
        for j in row.indices { row[j] -= lse }
      } else {
        let inverse = 1 / Self._expShiftedSum(row, shift: m)
        for j in row.indices { row[j] *= inverse }
      }
    }
  }

  /// See `BLASScalar._normalizeRowsKernel`.
  public static func _normalizeRowsKernel(
    _ a: UnsafeMutableBufferPointer<Self>, columns n: Int, gain: UnsafeBufferPointer<Self>,
    bias: UnsafeBufferPointer<Self>?, epsilon: Self, centered: Bool
  ) {
    for start in stride(from: 0, to: a.count, by: Swift.max(n, 1)) {
      var mean: Self = 0
      if centered {
        for j in 0..<n { mean += a[start + j] }
        mean /= Self(n)
      }
      var squares: Self = 0
      for j in 0..<n { squares += (a[start + j] - mean) * (a[start + j] - mean) }
      let scale = 1 / Self.sqrt(squares / Self(n) + epsilon)
      for j in 0..<n { a[start + j] = (a[start + j] - mean) * scale * gain[j] + (bias?[j] ?? 0) }
    }
  }

  /// See `BLASScalar._gatherRowsKernel`.
  public static func _gatherRowsKernel(
    _ source: UnsafeBufferPointer<Self>, columns n: Int, _ indices: UnsafeBufferPointer<Int>,
    _ target: UnsafeMutableBufferPointer<Self>
  ) {
    for (r, i) in indices.enumerated() {
      (target.baseAddress! + r * n).update(from: source.baseAddress! + i * n, count: n)
    }
  }

  /// See `BLASScalar._scatterAddRowsKernel`.
  public static func _scatterAddRowsKernel(
    _ source: UnsafeBufferPointer<Self>, columns n: Int, _ indices: UnsafeBufferPointer<Int>,
    _ weights: UnsafeBufferPointer<Self>?, _ target: UnsafeMutableBufferPointer<Self>
  ) {
    for (r, i) in indices.enumerated() {
      let w = weights?[r] ?? 1
      for j in 0..<n { target[i * n + j] += w * source[r * n + j] }
    }
  }
}
