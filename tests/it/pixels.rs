//! Finding the demo bank's human check on a screen, by colour, as a person finds it by eye:
//! the green square and the yellow phrase field, in a live-screen frame or a screenshot of
//! the person's tab.

use image::RgbImage;

/// Pixels of one colour in an image: their centre and vertical extent, in image pixels.
#[derive(Debug, Clone, Copy)]
pub struct Blob {
    pub x: f64,
    pub y: f64,
    pub height: f64,
    /// How many pixels matched.
    pub count: u64,
}

fn blob(img: &RgbImage, matches: impl Fn([u8; 3]) -> bool) -> Option<Blob> {
    let (mut sx, mut sy, mut n) = (0u64, 0u64, 0u64);
    let (mut top, mut bottom) = (u32::MAX, 0);
    for (x, y, p) in img.enumerate_pixels() {
        if matches(p.0) {
            sx += u64::from(x);
            sy += u64::from(y);
            n += 1;
            top = top.min(y);
            bottom = bottom.max(y);
        }
    }
    (n > 0).then(|| Blob {
        x: sx as f64 / n as f64,
        y: sy as f64 / n as f64,
        height: f64::from(bottom - top + 1),
        count: n,
    })
}

/// The green square (`#1a9e3f`), JPEG edges and all.
pub fn green_square(img: &RgbImage) -> Option<Blob> {
    blob(img, |[r, g, b]| g > 130 && r < 90 && b < 110)
}

/// The yellow phrase field (`#ffd400`).
pub fn yellow_field(img: &RgbImage) -> Option<Blob> {
    blob(img, |[r, g, b]| r > 200 && g > 180 && b < 90)
}

/// A blob's centre as fractions of the image.
pub fn fractions(img: &RgbImage, b: Blob) -> (f64, f64) {
    (b.x / f64::from(img.width()), b.y / f64::from(img.height()))
}

/// A PNG screenshot, decoded.
pub fn png(bytes: &[u8]) -> Option<RgbImage> {
    Some(image::load_from_memory(bytes).ok()?.to_rgb8())
}

/// Looks only inside a rectangle `(x, y, width, height)` of the image: a blob found there,
/// in the whole image's pixels.
pub fn within(
    img: &RgbImage,
    (x, y, w, h): (u32, u32, u32, u32),
    find: impl Fn(&RgbImage) -> Option<Blob>,
) -> Option<Blob> {
    let part = image::imageops::crop_imm(img, x, y, w, h).to_image();
    find(&part).map(|b| Blob {
        x: b.x + f64::from(x),
        y: b.y + f64::from(y),
        ..b
    })
}
