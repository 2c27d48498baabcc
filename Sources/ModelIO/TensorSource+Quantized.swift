import Linalg

extension TensorSource {
  /// The format of the `rows × columns` weight `base` when the source stores it quantized
  /// as MoEKit does — `base.qweight` (U8, `[rows, ⌈columns/32⌉·32]` for q8 or `·16` for q4)
  /// beside `base.scales` (F16, `[rows, ⌈columns/32⌉]`; layout in `WeightMatrix`) — or
  /// `nil` when neither part exists. `declared` is the format the source's metadata names;
  /// without one the format is read from the width of `qweight`.
  ///
  /// - Throws: `CheckpointError.missingTensor` when one part is missing,
  ///   `.shapeMismatch` when a part's shape fits neither the shape nor the format, and
  ///   `.unsupportedField` when a part has another element type.
  public func storedQuantization(
    of base: String, rows: Int, columns: Int, declared: WeightMatrix.Format? = nil
  ) throws -> WeightMatrix.Format? {
    let (quantsName, scalesName) = (base + ".qweight", base + ".scales")
    guard contains(quantsName) || contains(scalesName) else { return nil }
    for part in [quantsName, scalesName] where !contains(part) { throw CheckpointError.missingTensor(part) }
    let blocks = (columns + 31) / 32
    let quantShape = try shape(of: quantsName)
    let format =
      declared
      ?? (quantShape == [rows, blocks * 16] ? WeightMatrix.Format.q4 : WeightMatrix.Format.q8)
    let expected = [
      (quantsName, [rows, blocks * (format == .q8 ? 32 : 16)], SafeTensorsDataType.u8),
      (scalesName, [rows, blocks], .f16),
    ]
    for (part, partShape, dataType) in expected {
      let found = try shape(of: part)
      guard found == partShape else {
        throw CheckpointError.shapeMismatch(name: part, expected: partShape, found: found)
      }
      let stored = try self.dataType(of: part)
      guard stored == dataType else {
        throw CheckpointError.unsupportedField(
          field: part, value: stored.rawValue, supported: dataType.rawValue)
      }
    }
    return format
  }

  /// The `rows × columns` weight `base` stored quantized (see `storedQuantization`),
  /// copied into memory of its own, or `nil` when the source does not store it so.
  ///
  /// - Throws: what `storedQuantization` throws.
  public func quantizedMatrix(
    _ base: String, rows: Int, columns: Int, declared: WeightMatrix.Format? = nil
  ) throws -> WeightMatrix? {
    guard let format = try storedQuantization(of: base, rows: rows, columns: columns, declared: declared)
    else {
      return nil
    }
    return WeightMatrix(
      quantized: format, rows: rows, columns: columns, quants: try rawBytes(base + ".qweight"),
      scales: try rawBytes(base + ".scales"))
  }
}
