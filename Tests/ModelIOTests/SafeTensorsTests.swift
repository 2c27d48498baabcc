import Foundation
import Linalg
import ModelIO
import Testing

/// A temporary folder removed at the end of the test.
final class TemporaryFolder {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent(
    "moekit-io-\(UInt64.random(in: 0..<1 << 40))")
  init() { try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
  deinit { try? FileManager.default.removeItem(at: url) }
  func path(_ name: String) -> String { url.appendingPathComponent(name).path }
  func write(_ bytes: [UInt8], _ name: String) -> String {
    let p = path(name)
    _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
    return p
  }
}

enum Fixtures {
  static func path(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
      .path
  }
  /// The fixture values: (−6…5)/8 as a 3 × 4 matrix.
  static let base = Matrix<Double>(rows: 3, columns: 4) { i, j in Double(i * 4 + j - 6) / 8 }
}

@Suite struct SafeTensorsTests {
  @Test func readsAFileWrittenByTheSafetensorsPackage() throws {
    let file = try SafeTensorsFile(contentsOfFile: Fixtures.path("numpy-written.safetensors"))
    #expect(file.names == ["f16", "f32", "f64", "i32", "i64", "vector"])
    #expect(file.metadata == ["format": "np", "writer": "safetensors.numpy"])
    for name in ["f16", "f32", "f64"] {
      #expect(try file.matrix(name, as: Double.self) == Fixtures.base, "\(name)")
      #expect(
        try file.matrix(name, as: Float.self)
          == Matrix<Float>(rows: 3, columns: 4) { Float(Fixtures.base[$0, $1]) })
    }
    #expect(try file.integers("i32") == [0, 1, 2, 3, 4])
    #expect(try file.integers("i64") == [-2, -1, 0, 1, 2, 3])
    #expect(try file.matrix("vector", as: Float.self).shape == (1, 4))
    #expect(file.tensors["i64"]?.shape == [2, 3])
  }

  @Test(arguments: SafeTensorsDataType.allCases)
  func roundTripsEveryDataType(_ type: SafeTensorsDataType) throws {
    let folder = TemporaryFolder()
    let path = folder.path("round.safetensors")
    let integers = type == .u8 ? [3, 0, 7, 255] : [-3, 0, 7, 1 << 20]
    let tensor =
      type.isFloatingPoint
      ? Tensor(Fixtures.base, as: type) : Tensor(integers: integers, shape: [2, 2], as: type)
    try SafeTensorsWriter.write(
      ["t": tensor, "after": Tensor(Matrix<Float>([[1.5]]), as: .f32)], metadata: ["k": "v"], to: path)
    let file = try SafeTensorsFile(contentsOfFile: path)
    #expect(file.tensors["t"]?.dataType == type && file.metadata == ["k": "v"])
    if type.isFloatingPoint {
      #expect(try file.matrix("t", as: Double.self) == Fixtures.base)
    } else {
      #expect(try file.integers("t") == integers)
    }
    #expect(try file.matrix("after", as: Float.self).elements == [1.5])
  }

  @Test func narrowingRoundsToNearest() throws {
    let folder = TemporaryFolder()
    let x = Matrix<Float>([[1 + 1.0 / 1024 + 1.0 / 4096, 3.14159265]])
    try SafeTensorsWriter.write(
      ["h": Tensor(x, as: .f16), "b": Tensor(x, as: .bf16)], to: folder.path("n.safetensors"))
    let file = try SafeTensorsFile(contentsOfFile: folder.path("n.safetensors"))
    #expect(try file.matrix("h", as: Float.self).elements == x.elements.map { Float(Float16($0)) })
    #expect(try file.matrix("b", as: Float.self).elements == [1.0, 3.140625])
  }

  @Test func writesTheExactLayout() {
    let bytes = SafeTensorsWriter.encode(["a": Tensor(Matrix<Float>([[1, 2]]), shape: [2], as: .f32)])
    let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    var padded = Array(header.utf8)
    while (8 + padded.count) % 8 != 0 { padded.append(0x20) }
    var expected: [UInt8] = withUnsafeBytes(of: UInt64(padded.count).littleEndian) { Array($0) }
    expected += padded
    expected += withUnsafeBytes(of: Float(1).bitPattern.littleEndian) { Array($0) }
    expected += withUnsafeBytes(of: Float(2).bitPattern.littleEndian) { Array($0) }
    #expect(bytes == expected)
    #expect((8 + padded.count) % 8 == 0)
  }

  @Test func nativeTypesAreNotCopied() throws {
    let folder = TemporaryFolder()
    let path = folder.path("zero.safetensors")
    try SafeTensorsWriter.write(
      ["w": Tensor(Matrix<Float>(rows: 64, columns: 64, repeating: 2), as: .f32)], to: path)
    let file = try SafeTensorsFile(contentsOfFile: path)
    var a = try file.matrix("w", as: Float.self)
    let b = try file.matrix("w", as: Float.self)
    // Both views share the mapped memory; writing to one copies it first (value semantics).
    let (pa, pb) = (
      a.withUnsafeBufferPointer { $0.baseAddress! }, b.withUnsafeBufferPointer { $0.baseAddress! }
    )
    #expect(pa == pb)
    a[0, 0] = 7
    #expect(b[0, 0] == 2 && a[0, 0] == 7)
    // The file is untouched.
    #expect(try SafeTensorsFile(contentsOfFile: path).matrix("w", as: Float.self)[0, 0] == 2)
  }

  /// A corpus of broken files, each with the error it must produce.
  static func corrupt() -> [(String, [UInt8], SafeTensorsError)] {
    func file(_ header: String, data: Int, declared: UInt64? = nil) -> [UInt8] {
      let h = Array(header.utf8)
      return withUnsafeBytes(of: (declared ?? UInt64(h.count)).littleEndian) { Array($0) } + h
        + [UInt8](repeating: 0, count: data)
    }
    let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    return [
      ("truncated length", [1, 2, 3], .fileTooSmall(size: 3)),
      (
        "huge header", file(good, data: 8, declared: 1 << 40),
        .headerTooLarge(length: 1 << 40, limit: 100_000_000)
      ),
      (
        "header beyond file", file(good, data: 8, declared: 500),
        .headerBeyondFile(length: 500, fileSize: 8 + good.utf8.count + 8)
      ),
      ("not json", file("{nope", data: 0), .invalidHeader(reason: "")),
      (
        "not utf-8",
        Array(withUnsafeBytes(of: UInt64(4).littleEndian) { Array($0) }) + [0x7B, 0xFF, 0xFE, 0x7D],
        .invalidHeader(reason: "")
      ),
      ("array header", file("[1]", data: 0), .headerNotAnObject),
      (
        "unknown dtype", file(#"{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#, data: 8),
        .unknownDataType(name: "a", dtype: "Q7")
      ),
      (
        "missing shape", file(#"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, data: 8),
        .invalidTensorEntry(name: "a", problem: "")
      ),
      (
        "negative shape", file(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: 8),
        .invalidTensorEntry(name: "a", problem: "")
      ),
      (
        "backwards offsets", file(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: 8),
        .invalidTensorEntry(name: "a", problem: "")
      ),
      (
        "size mismatch", file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8),
        .sizeMismatch(name: "a", expectedBytes: 12, rangeBytes: 8)
      ),
      (
        "out of range", file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8),
        .offsetsOutOfRange(name: "a", end: 16, dataSize: 8)
      ),
      (
        "overlap",
        file(
          #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
          data: 12), .overlappingTensors("a", "b")
      ),
      (
        "gap", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8),
        .dataNotCovered(offset: 0)
      ),
      ("trailing bytes", file(good, data: 12), .dataNotCovered(offset: 8)),
      ("bad metadata", file(#"{"__metadata__":{"k":1}}"#, data: 0), .invalidMetadata),
    ]
  }

  @Test func everyCorruptFileGetsItsOwnError() throws {
    let folder = TemporaryFolder()
    for (label, bytes, expected) in Self.corrupt() {
      let path = folder.write(bytes, "\(label).safetensors")
      do {
        _ = try SafeTensorsFile(contentsOfFile: path)
        Issue.record("\(label): accepted")
      } catch let error as SafeTensorsError {
        switch (error, expected) {
        case (.invalidHeader, .invalidHeader), (.invalidTensorEntry, .invalidTensorEntry): break
        default: #expect(error == expected, "\(label): \(error)")
        }
      }
    }
  }

  @Test func askingForTheWrongThingIsAnError() throws {
    let file = try SafeTensorsFile(contentsOfFile: Fixtures.path("numpy-written.safetensors"))
    #expect(throws: SafeTensorsError.tensorNotFound("nope")) { try file.matrix("nope", as: Float.self) }
    #expect(throws: SafeTensorsError.notFloatingPoint(name: "i32", dtype: "I32")) {
      try file.matrix("i32", as: Float.self)
    }
    #expect(throws: SafeTensorsError.notInteger(name: "f32", dtype: "F32")) { try file.integers("f32") }
    #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOfFile: "/nonexistent.safetensors") }
    #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOfFile: "/tmp") }
  }
}

@Suite struct NpyTests {
  @Test func readsFilesWrittenByNumPy() throws {
    #expect(
      try NpyArray(contentsOfFile: Fixtures.path("float32.npy")).matrix(as: Double.self) == Fixtures.base)
    let vector = try NpyArray(contentsOfFile: Fixtures.path("float64-vector.npy"))
    #expect(vector.shape == [4])
    #expect(try vector.matrix(as: Double.self) == Fixtures.base[rows: 1..<2])
    #expect(try NpyArray(contentsOfFile: Fixtures.path("int64.npy")).integers() == [-2, -1, 0, 1, 2, 3])
  }

  @Test func writesWhatNumPyWrites() throws {
    // NumPy's own bytes for the same array: our encoder reproduces them exactly.
    let numpy = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("float32.npy")))
    #expect(
      NpyArray(Matrix<Float>(rows: 3, columns: 4) { Float(Fixtures.base[$0, $1]) }).encoded == Array(numpy))
  }

  @Test func roundTrips() throws {
    let folder = TemporaryFolder()
    let m = Matrix<Double>.identity(3)
    try NpyArray(m).write(to: folder.path("m.npy"))
    #expect(try NpyArray(contentsOfFile: folder.path("m.npy")).matrix(as: Double.self) == m)
    try NpyArray(integers: [5, -6], shape: [2]).write(to: folder.path("i.npy"))
    #expect(try NpyArray(contentsOfFile: folder.path("i.npy")).integers() == [5, -6])
  }

  @Test func version2Headers() throws {
    var bytes = NpyArray(Matrix<Float>([[1, 2]])).encoded
    // Rewrite as version 2.0: a 4-byte header length.
    let length = Int(bytes[8]) | Int(bytes[9]) << 8
    bytes =
      Array(bytes[0..<6]) + [2, 0] + withUnsafeBytes(of: UInt32(length).littleEndian) { Array($0) }
      + Array(bytes[10...])
    #expect(
      try bytes.withUnsafeBytes { try NpyArray(parsing: $0) }.matrix(as: Float.self).elements == [1, 2])
  }

  @Test func corruptFilesAreErrors() {
    func header(_ text: String, version: UInt8 = 1, data: Int = 0) -> [UInt8] {
      let h = Array(text.utf8)
      return [0x93] + Array("NUMPY".utf8) + [version, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h
        + [UInt8](repeating: 0, count: data)
    }
    let cases: [(String, [UInt8], NpyError)] = [
      ("magic", Array("NOTNPY-------".utf8), .notNpy),
      ("short", [0x93] + Array("NUMPY".utf8), .truncated(expected: 10, actual: 6)),
      ("version", header("{}", version: 9), .unsupportedVersion(major: 9, minor: 0)),
      (
        "dtype", header("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: 4),
        .unsupportedDataType(">f4")
      ),
      ("fortran", header("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", data: 4), .fortranOrder),
      (
        "data", header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", data: 8),
        .truncated(expected: 10 + 59 + 32, actual: 10 + 59 + 8)
      ),
      ("dict", header("['descr']"), .invalidHeader("not a dictionary")),
      (
        "shape", header("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }"),
        .invalidHeader("shape entry 'a' is not a non-negative integer")
      ),
    ]
    for (label, bytes, expected) in cases {
      #expect(throws: expected, "\(label)") { try bytes.withUnsafeBytes { _ = try NpyArray(parsing: $0) } }
    }
  }
}

@Suite struct SafeTensorsDuplicateTests {
  /// JSON parsers keep one of two equal keys; the header must not be trusted then.
  @Test func aTensorNamedTwiceIsNamed() throws {
    let folder = TemporaryFolder()
    let header =
      #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "x\u0079": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#
    var bytes = [UInt8](repeating: 0, count: 8)
    let json = Array(header.utf8)
    for i in 0..<8 { bytes[i] = UInt8((json.count >> (8 * i)) & 0xff) }
    bytes += json + [UInt8](repeating: 0, count: 8)
    let path = folder.path("dup.safetensors")
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    #expect(throws: SafeTensorsError.duplicateTensor("w")) { try SafeTensorsFile(contentsOfFile: path) }
    // A metadata key or string value equal to a tensor's name is no duplicate.
    let fine = folder.path("fine.safetensors")
    try SafeTensorsWriter.write(
      ["w": Tensor(Matrix<Float>([[1.5]]), as: .f32)], metadata: ["w": "w", "dtype": "shape"], to: fine)
    #expect(try SafeTensorsFile(contentsOfFile: fine).names == ["w"])
  }
}
