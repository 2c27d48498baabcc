/// The heap block behind one or more `Matrix` values: raw memory aligned to 64 bytes
/// (a cache line, and enough for any SIMD width BLAS uses), bound to the matrix's scalar
/// type by whoever allocates it.
///
/// An *alias* buffer points into another buffer's memory and keeps that buffer alive
/// without owning the memory. `Matrix.subscript(rows:)` hands one to a row-range view
/// being mutated in place: the view's own uniqueness check then sees the alias (unique,
/// so writes go straight into the parent), while the parent's sees the extra reference
/// held by the alias (so if the view escapes, the parent copies before its next write).
@usableFromInline
final class _MatrixBuffer: @unchecked Sendable {
  /// Start of the memory.
  @usableFromInline let base: UnsafeMutableRawPointer
  /// What keeps the memory alive when this buffer does not own it: the parent buffer of
  /// an alias, or the owner of external memory (a memory-mapped file); `nil` when this
  /// buffer owns the memory.
  @usableFromInline let owner: AnyObject?
  /// Whether the memory belongs to someone else and must never be written: a matrix over
  /// it copies before its first write, however uniquely it holds this buffer.
  @usableFromInline let isReadOnly: Bool

  /// An uninitialised block of `byteCount` bytes owned by this buffer.
  @usableFromInline
  init(byteCount: Int) {
    base = .allocate(byteCount: Swift.max(byteCount, 1), alignment: 64)
    owner = nil
    isReadOnly = false
  }

  /// An alias of `owner`'s memory starting `byteOffset` bytes in.
  @usableFromInline
  init(aliasing owner: _MatrixBuffer, byteOffset: Int) {
    base = owner.base + byteOffset
    self.owner = owner
    isReadOnly = owner.isReadOnly
  }

  /// Read-only memory owned by `owner`, which this buffer keeps alive.
  @usableFromInline
  init(external base: UnsafeRawPointer, owner: AnyObject) {
    self.base = UnsafeMutableRawPointer(mutating: base)
    self.owner = owner
    isReadOnly = true
  }

  deinit {
    if owner == nil { base.deallocate() }
  }
}
