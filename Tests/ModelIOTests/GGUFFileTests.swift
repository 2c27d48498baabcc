import Foundation
import Linalg
import ModelIO
import Testing

/// The GGUF reader against files the `gguf` package wrote (scripts/make-gguf-fixtures.sh):
/// every metadata value type, and every tensor type dequantized bit for bit as the package
/// (ggml's formats in NumPy) dequantizes it; and every malformed header refused by name.
@Suite struct GGUFFileTests {
  static func fixture() throws -> GGUFFile {
    try GGUFFile(contentsOfFile: Fixtures.path("gguf/types.gguf"))
  }

  @Test func readsEveryMetadataValueType() throws {
    let file = try Self.fixture()
    #expect(file.version == 3 && file.alignment == 32)
    let m = file.metadata
    #expect(m["general.architecture"] == .string("llama"))
    #expect(m["test.u8"] == .unsigned(200) && m["test.i8"] == .signed(-100))
    #expect(m["test.u16"] == .unsigned(60000) && m["test.i16"] == .signed(-30000))
    #expect(m["test.u32"] == .unsigned(4_000_000_000) && m["test.i32"] == .signed(-2_000_000_000))
    #expect(m["test.f32"] == .float(0.25) && m["test.bool"] == .bool(true))
    #expect(m["test.string"] == .string("héllo ▁wörld"))
    #expect(m["test.u64"] == .unsigned(1 << 63 + 5) && m["test.i64"] == .signed(-(1 << 62)))
    #expect(m["test.f64"] == .float(-1.5e300))
    #expect(m["test.strings"] == .array([.string("a"), .string("bc"), .string("")]))
    #expect(m["test.ints"]?.integer == nil && m["test.u32"]?.integer == 4_000_000_000)
  }

  /// Each type's elements are exactly (bit for bit) what `gguf.quants.dequantize` gives.
  @Test(arguments: GGMLType.allCases) func decodesAsTheReferenceDoes(type: GGMLType) throws {
    let file = try Self.fixture()
    let expected = try SafeTensorsFile(contentsOfFile: Fixtures.path("gguf/types-expected.safetensors"))
    let name = type.name.lowercased()
    #expect(file.tensors[name]?.type == type && file.tensors[name]?.shape == [3, 512])
    let decoded = try file.matrix(name)
    let reference = try expected.matrix(name, as: Float.self)
    #expect(decoded.shape == (3, 512))
    #expect(decoded.elements.map(\.bitPattern) == reference.elements.map(\.bitPattern), "\(type.name)")
  }

  @Test func vectorsAreRowsAndOtherRanksAreRefused() throws {
    let file = try Self.fixture()
    #expect(try file.matrix("vector").shape == (1, 64))
    #expect(file.tensors["cube"]?.shape == [2, 3, 32])
    #expect(throws: GGUFError.unsupportedRank(name: "cube", shape: [2, 3, 32])) { try file.matrix("cube") }
    #expect(throws: GGUFError.tensorNotFound("nothing")) { try file.matrix("nothing") }
    #expect(throws: GGUFError.self) { try GGUFFile(contentsOfFile: "/nonexistent.gguf") }
  }

  // MARK: Malformed files

  /// A little-endian GGUF file from its parts.
  struct Builder {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
      u64(UInt64(s.utf8.count))
      bytes += Array(s.utf8)
    }
    /// Version 3 with one metadata string and the given tensors (dimensions, type, offset),
    /// the data section padded to 32 and `dataBytes` long.
    static func file(
      tensors: [(String, [UInt64], UInt32, UInt64)] = [("t", [32, 2], 0, 0)], dataBytes: Int = 256,
      version: UInt32 = 3, magic: UInt32 = 0x4655_4747, extra: (inout Builder) -> Void = { _ in }
    ) -> [UInt8] {
      var b = Builder()
      b.u32(magic)
      b.u32(version)
      b.u64(UInt64(tensors.count))
      b.u64(1)
      b.string("general.name")
      b.u32(8)
      b.string("tiny")
      extra(&b)
      for (name, dimensions, type, offset) in tensors {
        b.string(name)
        b.u32(UInt32(dimensions.count))
        for d in dimensions { b.u64(d) }
        b.u32(type)
        b.u64(offset)
      }
      while b.bytes.count % 32 != 0 { b.bytes.append(0) }
      b.bytes += [UInt8](repeating: 0, count: dataBytes)
      return b.bytes
    }
  }

  func parse(_ bytes: [UInt8]) throws {
    _ = try bytes.withUnsafeBytes { try GGUFFile.parse($0) }
  }

  @Test func aWellFormedTinyFileParses() throws {
    try parse(Builder.file())
  }

  @Test func malformedHeadersAreNamed() throws {
    #expect(throws: GGUFError.notGGUF) { try parse(Builder.file(magic: 0x1234)) }
    #expect(throws: GGUFError.unsupportedVersion(7)) { try parse(Builder.file(version: 7)) }
    #expect(throws: GGUFError.unsupportedTensorType(name: "t", type: "Q4_1")) {
      try parse(Builder.file(tensors: [("t", [32, 2], 3, 0)]))
    }
    #expect(throws: GGUFError.unsupportedTensorType(name: "t", type: "type 999")) {
      try parse(Builder.file(tensors: [("t", [32, 2], 999, 0)]))
    }
    #expect(throws: GGUFError.partialBlock(name: "t", columns: 40, blockSize: 32)) {
      try parse(Builder.file(tensors: [("t", [40, 2], 8, 0)]))
    }
    #expect(throws: GGUFError.invalidShape(name: "t", shape: [32, 0])) {
      try parse(Builder.file(tensors: [("t", [32, 0], 0, 0)]))
    }
    #expect(throws: GGUFError.invalidShape(name: "t", shape: [])) {
      try parse(Builder.file(tensors: [("t", [32, 1, 1, 1, 1], 0, 0)]))
    }
    #expect(throws: GGUFError.misalignedTensor(name: "t", offset: 4, alignment: 32)) {
      try parse(Builder.file(tensors: [("t", [32, 1], 0, 4)]))
    }
    #expect(throws: GGUFError.self) {
      try parse(Builder.file(tensors: [("t", [32, 4], 0, 0)], dataBytes: 100))
    }
    #expect(throws: GGUFError.overlappingTensors("a", "b")) {
      try parse(Builder.file(tensors: [("a", [32, 2], 0, 0), ("b", [32], 0, 224)], dataBytes: 512))
    }
    #expect(throws: GGUFError.duplicateTensor("t")) {
      try parse(Builder.file(tensors: [("t", [32], 0, 0), ("t", [32], 0, 128)]))
    }
    #expect(throws: GGUFError.invalidShape(name: "t", shape: [UInt64(Int32.max) + 1])) {
      try parse(Builder.file(tensors: [("t", [UInt64(Int32.max) + 1], 0, 0)]))
    }
  }

  /// Counts beyond what the file could hold are refused before anything is allocated, and a
  /// file cut anywhere is a truncation error, never a crash.
  @Test func implausibleCountsAndTruncationsAreRefused() throws {
    var huge = Builder.file()
    huge.replaceSubrange(8..<16, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    #expect(throws: GGUFError.implausibleCount(field: "tensor count", value: 0x0FFF_FFFF_FFFF_FFFF)) {
      try parse(huge)
    }
    let whole = Builder.file()
    for cut in [0, 3, 5, 12, 20, 30, 40, 60, 70, 90] {
      #expect(throws: GGUFError.self, "cut at \(cut)") { try parse(Array(whole.prefix(cut))) }
    }
    let nested = Builder.file { b in
      b.bytes.replaceSubrange(16..<24, with: [2, 0, 0, 0, 0, 0, 0, 0])  // two metadata entries
      b.string("deep")
      for _ in 0..<6 {
        b.u32(9)  // an array …
        b.u32(9)  // … of arrays
        b.u64(1)
      }
    }
    #expect(throws: GGUFError.self) { try parse(nested) }
    let duplicate = Builder.file { b in
      b.bytes.replaceSubrange(16..<24, with: [2, 0, 0, 0, 0, 0, 0, 0])
      b.string("general.name")
      b.u32(8)
      b.string("again")
    }
    #expect(throws: GGUFError.duplicateKey("general.name")) { try parse(duplicate) }
    let badType = Builder.file { b in
      b.bytes.replaceSubrange(16..<24, with: [2, 0, 0, 0, 0, 0, 0, 0])
      b.string("odd")
      b.u32(13)
    }
    #expect(throws: GGUFError.unknownValueType(key: "odd", type: 13)) { try parse(badType) }
    let badAlignment = Builder.file { b in
      b.bytes.replaceSubrange(16..<24, with: [2, 0, 0, 0, 0, 0, 0, 0])
      b.string("general.alignment")
      b.u32(4)
      b.u32(48)
    }
    #expect(throws: GGUFError.invalidAlignment("unsigned(48)")) { try parse(badAlignment) }
  }
}
