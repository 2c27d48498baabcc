/// A dense, row-major matrix with value semantics.
///
/// Elements are stored contiguously, row after row: element `(i, j)` is at flat index
/// `i * columns + j`, so the leading dimension is always `columns`. Copies share storage
/// until one of them is mutated (copy-on-write). A row-range view (`m[rows: a..<b]`)
/// shares its parent's storage without copying, which lets a block of tokens go straight
/// into `gemm`, and writing through that subscript updates the parent in place.
///
/// Activations in MoEKit are `tokens × features` matrices; weights are `out × in`
/// (`y = x · Wᵀ`, the PyTorch/Hugging Face convention).
///
/// ```swift
/// var x = Matrix<Float>([[1, 2, 3], [4, 5, 6]])   // 2 × 3
/// x[1, 2] = 7
/// let block = x[rows: 1..<2]                       // 1 × 3, no copy
/// ```
public struct Matrix<Scalar: BLASScalar> {
  @usableFromInline var _buffer: _MatrixBuffer
  /// Offset, in elements, of element `(0, 0)` inside `_buffer`.
  @usableFromInline var _offset: Int
  /// Number of rows.
  public let rows: Int
  /// Number of columns, which is also the leading dimension of the storage.
  public let columns: Int

  @inlinable
  init(_buffer: _MatrixBuffer, offset: Int, rows: Int, columns: Int) {
    self._buffer = _buffer
    self._offset = offset
    self.rows = rows
    self.columns = columns
  }

  /// A `rows × columns` matrix whose elements are written by `initializer`, which must
  /// initialise all `rows * columns` elements of the buffer it is given.
  ///
  /// This is the allocation primitive the other initialisers use; it skips the zero fill.
  @inlinable
  public init(
    rows: Int, columns: Int,
    unsafeUninitializedCapacityInitializingWith initializer: (UnsafeMutableBufferPointer<Scalar>)
      throws -> Void
  ) rethrows {
    precondition(rows >= 0 && columns >= 0, "Matrix shape \(rows)×\(columns) has a negative side")
    let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
    precondition(!overflow, "Matrix shape \(rows)×\(columns) overflows Int")
    let buffer = _MatrixBuffer(byteCount: count * MemoryLayout<Scalar>.stride)
    let start = buffer.base.bindMemory(to: Scalar.self, capacity: count)
    try initializer(UnsafeMutableBufferPointer(start: start, count: count))
    self.init(_buffer: buffer, offset: 0, rows: rows, columns: columns)
  }

  /// A matrix over read-only memory that `owner` keeps valid — a memory-mapped file, say —
  /// without copying it. The matrix keeps `owner` alive and never writes to the memory: its
  /// first mutation copies the elements into storage of its own.
  ///
  /// - Precondition: `memory` holds `rows * columns` initialised elements, aligned for
  ///   `Scalar`.
  public init(rows: Int, columns: Int, unsafeMemory memory: UnsafePointer<Scalar>, owner: AnyObject) {
    precondition(rows >= 0 && columns >= 0, "Matrix shape \(rows)×\(columns) has a negative side")
    precondition(
      Int(bitPattern: memory) % MemoryLayout<Scalar>.alignment == 0,
      "Matrix(unsafeMemory:): memory is not aligned for \(Scalar.self)")
    self.init(
      _buffer: _MatrixBuffer(external: UnsafeRawPointer(memory), owner: owner), offset: 0, rows: rows,
      columns: columns)
  }

  /// A `rows × columns` matrix with every element equal to `value` (zeros by default).
  @inlinable
  public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
    self.init(rows: rows, columns: columns) { $0.initialize(repeating: value) }
  }

  /// A `rows × columns` matrix of zeros.
  @inlinable
  public static func zeros(rows: Int, columns: Int) -> Matrix {
    Matrix(rows: rows, columns: columns)
  }

  /// The `n × n` identity matrix.
  @inlinable
  public static func identity(_ n: Int) -> Matrix {
    var m = Matrix(rows: n, columns: n)
    for i in 0..<n { m[i, i] = 1 }
    return m
  }

  /// A `rows × columns` matrix over `elements` in row-major order.
  ///
  /// - Precondition: `elements.count == rows * columns`.
  @inlinable
  public init(rows: Int, columns: Int, elements: some Collection<Scalar>) {
    precondition(
      elements.count == rows * columns,
      "Matrix(rows: \(rows), columns: \(columns), elements:) needs \(rows * columns) elements, got \(elements.count)"
    )
    self.init(rows: rows, columns: columns) { buffer in
      _ = buffer.initialize(from: elements)
    }
  }

  /// A matrix from nested arrays, one inner array per row.
  ///
  /// An empty outer array gives a `0 × 0` matrix.
  /// - Precondition: every row has the same length.
  @inlinable
  public init(_ nestedRows: [[Scalar]]) {
    let columns = nestedRows.first?.count ?? 0
    for (i, row) in nestedRows.enumerated() {
      precondition(
        row.count == columns, "Matrix(_:) row \(i) has \(row.count) elements, row 0 has \(columns)")
    }
    self.init(rows: nestedRows.count, columns: columns, elements: nestedRows.joined())
  }

  /// A `1 × n` matrix holding `row`.
  @inlinable
  public init(row: [Scalar]) {
    self.init(rows: 1, columns: row.count, elements: row)
  }

  /// A `rows × columns` matrix with element `(i, j)` equal to `element(i, j)`.
  @inlinable
  public init(rows: Int, columns: Int, _ element: (_ row: Int, _ column: Int) throws -> Scalar)
    rethrows
  {
    try self.init(rows: rows, columns: columns) { buffer in
      for i in 0..<rows {
        for j in 0..<columns {
          (buffer.baseAddress! + (i * columns + j)).initialize(to: try element(i, j))
        }
      }
    }
  }

  // MARK: Shape

  /// `(rows, columns)`.
  @inlinable
  public var shape: (rows: Int, columns: Int) { (rows, columns) }

  /// Number of elements, `rows * columns`.
  @inlinable
  public var count: Int { rows * columns }

  /// The same elements read as a `rows × columns` matrix, sharing storage (no copy).
  ///
  /// - Precondition: `rows * columns == count`.
  @inlinable
  public func reshaped(rows: Int, columns: Int) -> Matrix {
    precondition(
      rows >= 0 && columns >= 0 && rows * columns == count,
      "reshaped: cannot read \(self.rows)×\(self.columns) as \(rows)×\(columns)")
    return Matrix(_buffer: _buffer, offset: _offset, rows: rows, columns: columns)
  }

  // MARK: Storage access

  /// Calls `body` with the elements in row-major order. The pointer is valid only
  /// inside `body`.
  @inlinable
  public func withUnsafeBufferPointer<R>(
    _ body: (UnsafeBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    try withExtendedLifetime(_buffer) {
      let start = _buffer.base.assumingMemoryBound(to: Scalar.self) + _offset
      return try body(UnsafeBufferPointer(start: start, count: count))
    }
  }

  /// Calls `body` with the elements in row-major order for writing, after making this
  /// matrix's storage unique. The pointer is valid only inside `body`.
  @inlinable
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    _makeUnique()
    let buffer = _buffer
    return try withExtendedLifetime(buffer) {
      let start = buffer.base.assumingMemoryBound(to: Scalar.self) + _offset
      return try body(UnsafeMutableBufferPointer(start: start, count: count))
    }
  }

  /// The address of element `(0, 0)`, for kernels that hold many matrices at once.
  ///
  /// Valid while this matrix's storage is alive and unmodified: keep the matrix alive
  /// (`withExtendedLifetime`) and do not mutate it while the pointer is in use.
  @inlinable
  var _unsafeBaseAddress: UnsafePointer<Scalar> {
    UnsafePointer(_buffer.base.assumingMemoryBound(to: Scalar.self) + _offset)
  }

  /// Gives this value its own storage if it shares it with another.
  @inlinable
  mutating func _makeUnique() {
    if !isKnownUniquelyReferenced(&_buffer) || _buffer.isReadOnly { _copyStorage() }
  }

  /// Copies the elements into a fresh buffer (the copy-on-write slow path).
  @inlinable
  @inline(never)
  mutating func _copyStorage() {
    self = withUnsafeBufferPointer { source in
      Matrix(rows: rows, columns: columns) { _ = $0.initialize(fromContentsOf: source) }
    }
  }

  /// The flat elements in row-major order.
  @inlinable
  public var elements: [Scalar] { withUnsafeBufferPointer { Array($0) } }

  /// The rows as nested arrays.
  @inlinable
  public var nestedRows: [[Scalar]] { (0..<rows).map { self[row: $0] } }

  // MARK: Subscripts

  /// The element at row `row`, column `column`.
  @inlinable
  public subscript(row: Int, column: Int) -> Scalar {
    get {
      _checkIndex(row, column)
      return withUnsafeBufferPointer { $0[row * columns + column] }
    }
    set {
      _checkIndex(row, column)
      let index = row * columns + column
      withUnsafeMutableBufferPointer { $0[index] = newValue }
    }
  }

  @inlinable
  func _checkIndex(_ row: Int, _ column: Int) {
    precondition(
      row >= 0 && row < rows && column >= 0 && column < columns,
      "Matrix index (\(row), \(column)) out of range for shape \(rows)×\(columns)")
  }

  /// Row `index` as an array (a copy).
  @inlinable
  public subscript(row index: Int) -> [Scalar] {
    get {
      _checkRows(index..<index + 1)
      return withUnsafeBufferPointer { Array($0[index * columns..<(index + 1) * columns]) }
    }
    set {
      _checkRows(index..<index + 1)
      precondition(
        newValue.count == columns,
        "Matrix row \(index): assigned \(newValue.count) elements to a row of \(columns)")
      let start = index * columns
      withUnsafeMutableBufferPointer { buffer in
        for (j, value) in newValue.enumerated() { buffer[start + j] = value }
      }
    }
  }

  /// The rows in `range` as a `range.count × columns` matrix sharing this matrix's storage.
  ///
  /// Reading never copies. Mutating through the subscript (`gemm(..., into: &c[rows: r])`,
  /// `c[rows: r] = block`) writes into this matrix in place; a view kept in a variable and
  /// mutated later gets its own storage, like any value.
  /// - Precondition: `range` lies within `0..<rows`; an assigned matrix has the view's shape.
  @inlinable
  public subscript(rows range: Range<Int>) -> Matrix {
    get {
      _checkRows(range)
      return Matrix(
        _buffer: _buffer, offset: _offset + range.lowerBound * columns, rows: range.count,
        columns: columns)
    }
    set {
      _checkRows(range)
      _checkBlockShape(newValue, range)
      let start = range.lowerBound * columns
      withUnsafeMutableBufferPointer { target in
        newValue.withUnsafeBufferPointer { source in
          _ = UnsafeMutableBufferPointer(rebasing: target[start..<start + source.count])
            .update(fromContentsOf: source)
        }
      }
    }
    _modify {
      _checkRows(range)
      _makeUnique()
      let viewOffset = _offset + range.lowerBound * columns
      // The view's only reference is its own, so its writes land in place (see
      // `_MatrixBuffer`); no other strong reference to the alias may be kept here.
      var view = Matrix(
        _buffer: _MatrixBuffer(aliasing: _buffer, byteOffset: viewOffset * MemoryLayout<Scalar>.stride),
        offset: 0, rows: range.count, columns: columns)
      defer {
        let stillAliased =
          view._buffer.owner === _buffer && view._offset == 0
          && view._buffer.base == _buffer.base + viewOffset * MemoryLayout<Scalar>.stride
        if !stillAliased {
          // The caller replaced the view with another matrix: copy it into place.
          self[rows: range] = view
        }
      }
      yield &view
    }
  }

  @inlinable
  func _checkBlockShape(_ block: Matrix, _ range: Range<Int>) {
    precondition(
      block.rows == range.count && block.columns == columns,
      "Matrix rows \(range): assigned a \(block.rows)×\(block.columns) matrix to a \(range.count)×\(columns) block"
    )
  }

  @inlinable
  func _checkRows(_ range: Range<Int>) {
    precondition(
      range.lowerBound >= 0 && range.upperBound <= rows,
      "Matrix rows \(range) out of range for shape \(rows)×\(columns)")
  }
}

extension Matrix: @unchecked Sendable {}

extension Matrix: Equatable {
  /// Same shape and exactly equal elements (so a matrix holding NaN is not equal to itself).
  @inlinable
  public static func == (lhs: Matrix, rhs: Matrix) -> Bool {
    lhs.shape == rhs.shape
      && lhs.withUnsafeBufferPointer { l in rhs.withUnsafeBufferPointer { r in l.elementsEqual(r) } }
  }
}
