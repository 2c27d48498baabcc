/// How a reader holds a file's bytes.
public enum FileAccess: String, Sendable, CaseIterable {
  /// Mapped read-only and private: pages are read on demand and shared with the page cache.
  /// If another writer truncates the file while it is mapped, touching the lost pages ends
  /// the process with SIGBUS (as in every mmap reader).
  case mapped
  /// Read whole into memory at open: costs the file's size in memory and the read time up
  /// front, but nothing another writer does to the file afterwards can reach the process.
  case read
}
