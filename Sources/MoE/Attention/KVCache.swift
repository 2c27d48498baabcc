import Linalg

/// The keys and values one attention layer has computed for the tokens of one sequence so
/// far, so that a decode step computes only the new tokens' keys and values.
///
/// Rows are positions; a row holds the `keyWidth` key features and the `valueWidth` value
/// features of every key/value head (`kvHeads·Dk` and `kvHeads·Dv` for grouped-query
/// attention, after RoPE; the latent `c` and the RoPE key, `r + Dr`, and no values for
/// multi-head latent attention). Memory grows by `byteCount / count = (keyWidth +
/// valueWidth) · MemoryLayout<Scalar>.size` bytes per token — `CostModel`'s KV-cache
/// figure for one layer — while the allocation doubles as needed (`allocatedByteCount`).
public struct KVCache<Scalar: BLASScalar>: Sendable {
  /// Key features per token.
  public let keyWidth: Int
  /// Value features per token.
  public let valueWidth: Int
  /// Tokens held (or, for a recurrent layer, seen).
  public private(set) var count = 0
  /// A recurrent layer's fixed-size state (`GatedDeltaNet`'s convolution window and per-head
  /// matrices) in place of keys and values; empty for attention.
  public var recurrentState: [Scalar] = []
  private var keyStorage: Matrix<Scalar>
  private var valueStorage: Matrix<Scalar>

  /// An empty cache with room for `capacity` tokens before it reallocates.
  public init(keyWidth: Int, valueWidth: Int, capacity: Int = 16) {
    precondition(
      keyWidth >= 0 && valueWidth >= 0, "KVCache: widths \(keyWidth), \(valueWidth) must not be negative")
    self.keyWidth = keyWidth
    self.valueWidth = valueWidth
    keyStorage = Matrix(rows: Swift.max(capacity, 1), columns: keyWidth)
    valueStorage = Matrix(rows: Swift.max(capacity, 1), columns: valueWidth)
  }

  /// The keys of every token held (`count × keyWidth`, a view of the storage).
  public var keys: Matrix<Scalar> { keyStorage[rows: 0..<count] }
  /// The values of every token held (`count × valueWidth`).
  public var values: Matrix<Scalar> { valueStorage[rows: 0..<count] }

  /// Bytes the tokens' keys and values occupy, `count · (keyWidth + valueWidth) · size`, plus a
  /// recurrent state's.
  public var byteCount: Int {
    (count * (keyWidth + valueWidth) + recurrentState.count) * MemoryLayout<Scalar>.size
  }
  /// Bytes allocated, at most twice `byteCount` once past the initial capacity.
  public var allocatedByteCount: Int {
    (keyStorage.count + valueStorage.count + recurrentState.count) * MemoryLayout<Scalar>.size
  }

  /// Appends the keys and values of new tokens (`n × keyWidth`, `n × valueWidth`).
  public mutating func append(keys newKeys: Matrix<Scalar>, values newValues: Matrix<Scalar>) {
    precondition(
      newKeys.columns == keyWidth && newValues.columns == valueWidth && newKeys.rows == newValues.rows,
      "KVCache.append: keys \(newKeys.rows)×\(newKeys.columns) and values \(newValues.rows)×\(newValues.columns) for widths \(keyWidth), \(valueWidth)"
    )
    let needed = count + newKeys.rows
    if needed > keyStorage.rows {
      let capacity = Swift.max(needed, 2 * keyStorage.rows)
      keyStorage = Self.grown(keyStorage, rows: capacity, keeping: count)
      valueStorage = Self.grown(valueStorage, rows: capacity, keeping: count)
    }
    keyStorage[rows: count..<needed] = newKeys
    valueStorage[rows: count..<needed] = newValues
    count = needed
  }

  /// Counts `n` more tokens seen by a recurrent layer (which keeps no keys or values).
  public mutating func advance(by n: Int) {
    precondition(
      keyWidth == 0 && valueWidth == 0 && n >= 0, "KVCache.advance: only for a recurrent layer's state")
    count += n
  }

  /// Forgets every token (and zeroes a recurrent state), keeping the allocation.
  public mutating func removeAll() {
    count = 0
    for i in recurrentState.indices { recurrentState[i] = 0 }
  }

  private static func grown(_ m: Matrix<Scalar>, rows: Int, keeping kept: Int) -> Matrix<Scalar> {
    var larger = Matrix<Scalar>(rows: rows, columns: m.columns)
    if kept > 0 { larger[rows: 0..<kept] = m[rows: 0..<kept] }
    return larger
  }
}
