import Foundation
import Report

/// Writes a GGUF file (version 3, little-endian, data aligned to 32 bytes): metadata in the
/// value types llama.cpp's loader expects for each key, then tensors in ggml's layouts. The
/// file is written to a temporary beside `path` and takes its name only when complete.
///
/// ### References
/// The GGUF specification, ggml's `docs/gguf.md`.
public struct GGUFWriter {
  /// A metadata value with its GGUF value type.
  public enum Value: Sendable, Equatable {
    /// `UINT32`.
    case u32(UInt32)
    /// `FLOAT32`.
    case f32(Float)
    /// `BOOL`.
    case bool(Bool)
    /// `STRING`.
    case string(String)
    /// `ARRAY` of `STRING`.
    case strings([String])
    /// `ARRAY` of `INT32`.
    case i32s([Int32])
  }

  /// One tensor: its name, type, ggml dimensions (innermost first) and bytes in ggml's layout.
  public struct Tensor: Sendable {
    /// The tensor's name.
    public var name: String
    /// The element type.
    public var type: GGMLType
    /// The dimensions, innermost (a row's elements) first.
    public var dimensions: [Int]
    /// The bytes, `type`'s layout.
    public var bytes: [UInt8]

    /// A tensor from its parts.
    public init(name: String, type: GGMLType, dimensions: [Int], bytes: [UInt8]) {
      (self.name, self.type, self.dimensions, self.bytes) = (name, type, dimensions, bytes)
    }
  }

  /// The metadata, in the order written.
  public var metadata: [(key: String, value: Value)] = []
  /// The tensors, in the order written.
  public var tensors: [Tensor] = []

  /// An empty file.
  public init() {}

  static let alignment = 32

  /// The file's bytes up to the data section: header, metadata, tensor infos, padding.
  func header() -> [UInt8] {
    var out: [UInt8] = []
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    func string(_ s: String) {
      u64(UInt64(s.utf8.count))
      out += Array(s.utf8)
    }
    u32(0x4655_4747)
    u32(3)
    u64(UInt64(tensors.count))
    u64(UInt64(metadata.count))
    for (key, value) in metadata {
      string(key)
      switch value {
      case .u32(let v):
        u32(4)
        u32(v)
      case .f32(let v):
        u32(6)
        u32(v.bitPattern)
      case .bool(let v):
        u32(7)
        out.append(v ? 1 : 0)
      case .string(let s):
        u32(8)
        string(s)
      case .strings(let items):
        u32(9)
        u32(8)
        u64(UInt64(items.count))
        for item in items { string(item) }
      case .i32s(let items):
        u32(9)
        u32(5)
        u64(UInt64(items.count))
        for item in items { u32(UInt32(bitPattern: item)) }
      }
    }
    var offset = 0
    for tensor in tensors {
      string(tensor.name)
      u32(UInt32(tensor.dimensions.count))
      for d in tensor.dimensions { u64(UInt64(d)) }
      u32(tensor.type.rawValue)
      u64(UInt64(offset))
      offset += Self.padded(tensor.bytes.count)
    }
    out += [UInt8](repeating: 0, count: Self.padded(out.count) - out.count)
    return out
  }

  static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

  /// Writes the file to `path`, atomically.
  ///
  /// - Throws: `FileWriteError` naming `path`.
  public func write(to path: String) throws {
    try AtomicFile.write(to: path) { handle in
      try handle.write(contentsOf: header())
      for tensor in tensors {
        try handle.write(contentsOf: tensor.bytes)
        try handle.write(
          contentsOf: [UInt8](repeating: 0, count: Self.padded(tensor.bytes.count) - tensor.bytes.count))
      }
    }
  }
}
