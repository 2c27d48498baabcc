import Linalg
import Testing
import _TestSupport

@Suite struct TopKTests {
  /// Top-k by a full stable sort in `Double`: larger first, NaN last, ties by index.
  static func reference(_ row: [Float], _ k: Int) -> [Int] {
    let keyed = row.enumerated().map {
      ($0.offset, $0.element.isNaN ? -Double.infinity : Double($0.element), $0.element.isNaN)
    }
    return keyed.sorted { a, b in
      if a.2 != b.2 { return !a.2 }
      if a.1 != b.1 { return a.1 > b.1 }
      return a.0 < b.0
    }.prefix(k).map(\.0)
  }

  @Test(arguments: [1, 2, 5, 16, 17, 40])
  func matchesSortWithTiesAndNaN(k: Int) {
    // Values quantised to a few levels so ties are common; some NaN and infinities.
    var generator = Xoshiro256StarStar(seed: 99)
    let columns = 40
    let x = Matrix<Float>(rows: 9, columns: columns) { i, j in
      let u = generator.nextUniform(Float.self)
      if i == 0 && j % 7 == 0 { return .nan }
      if i == 1 && j % 5 == 0 { return -.infinity }
      if i == 2 && j == 3 { return .infinity }
      return (u * 4).rounded(.down)
    }
    let top = x.topKRows(k)
    #expect(top.values.shape == (9, k))
    for i in 0..<x.rows {
      let expected = Self.reference(x[row: i], k)
      let got = (0..<k).map { top.index(row: i, rank: $0) }
      #expect(got == expected, "row \(i), k \(k)")
      for r in 0..<k {
        let value = top.values[i, r]
        #expect(value == x[i, got[r]] || (value.isNaN && x[i, got[r]].isNaN))
      }
    }
  }

  @Test func handComputedCases() {
    let x = Matrix<Double>([[0.1, 0.7, 0.2], [5, 5, 5]])
    let top = x.topKRows(2)
    #expect(top.indices == [1, 2, 0, 1])
    #expect(top.values.nestedRows == [[0.7, 0.2], [5, 5]])
    #expect(x.topKRows(0).values.shape == (2, 0))
    #expect(x.topKRows(3).indices == [1, 2, 0, 0, 1, 2])
  }

  @Test func nanIsChosenOnlyWhenNothingElseIsLeft() {
    let x = Matrix<Float>([[.nan, -1, .nan]])
    #expect(x.topKRows(1).indices == [1])
    #expect(x.topKRows(3).indices == [1, 0, 2])
  }

  @Test func kOutOfRangeTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = Matrix<Float>(rows: 2, columns: 3).topKRows(4)
    }
  }
}
