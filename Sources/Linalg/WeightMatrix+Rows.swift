extension WeightMatrix {
  /// The matrix whose row `i` is this matrix's row `order[i]`, bytes copied as they are (every
  /// format holds each row apart from the others, so nothing is converted and the elements
  /// are exactly the gathered ones).
  ///
  /// - Precondition: every index of `order` is in `0..<rows`.
  /// - Complexity: O(`order.count · columns`) bytes copied.
  public func gatheringRows(_ order: [Int]) -> WeightMatrix {
    precondition(
      order.allSatisfy { (0..<rows).contains($0) },
      "WeightMatrix.gatheringRows: indices must be in 0..<\(rows), got \(order.filter { !(0..<rows).contains($0) }.prefix(3))"
    )
    // Each section of the bytes holds one part of every row, rows contiguous: bf16 one
    // section; q8/q4 the quants, then the scales; the ggml block formats one section of whole blocks.
    let blocks = (columns + 31) / 32
    let sections: [Int] =
      switch format {
      case .bf16: [2 * columns]
      case .q8: [32 * blocks, 2 * blocks]
      case .q4: [16 * blocks, 2 * blocks]
      case .q4K, .q5K, .q6K, .mxfp4: [WeightMatrix.byteCount(format, rows: 1, columns: columns)]
      }
    let storage = _WeightStorage(byteCount: sections.reduce(0, +) * order.count)
    let out = UnsafeMutableRawPointer(mutating: storage.bytes.baseAddress)
    if let source = self.storage.bytes.baseAddress, let out {
      var (read, written) = (0, 0)
      for rowBytes in sections {
        for (i, row) in order.enumerated() {
          (out + written + i * rowBytes).copyMemory(from: source + read + row * rowBytes, byteCount: rowBytes)
        }
        read += rows * rowBytes
        written += order.count * rowBytes
      }
    }
    var matrix = WeightMatrix(format: format, rows: order.count, columns: columns, storage: storage)
    matrix.integerDotProducts = integerDotProducts
    return matrix
  }
}
