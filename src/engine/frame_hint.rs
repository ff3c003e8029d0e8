//! When a selector matches nothing where a step looks, but does inside one of the frames
//! there, the error says which frame, so that the fix is one line.

use std::time::Duration;

use super::runner::Runner;
use crate::browser::FramePath;
use crate::connector::plan::Selector;

impl Runner<'_> {
    /// ` ; it matches inside the frame 'iframe#auth': add frame: … to the step`, or nothing.
    pub(super) async fn frame_hint(&self, selector: &Selector) -> String {
        let here = self.tab.frame();
        let Ok(frames) = self.tab.frames().await else {
            return String::new();
        };
        for frame in frames {
            let mut path = here.selectors().to_vec();
            path.push(frame.clone());
            let inside = FramePath::new(path.clone());
            let found = self
                .tab
                .probe_in(
                    &inside,
                    std::slice::from_ref(selector),
                    None,
                    Duration::ZERO,
                    None,
                )
                .await
                .is_ok_and(|p| {
                    p.no_frame.is_none() && p.selectors.first().is_some_and(|s| s.count > 0)
                });
            if found {
                let add = if path.len() == 1 {
                    format!("'{frame}'")
                } else {
                    let quoted: Vec<String> = path.iter().map(|s| format!("'{s}'")).collect();
                    format!("[{}]", quoted.join(", "))
                };
                return format!(
                    "; it matches inside the frame '{frame}': add frame: {add} to the step"
                );
            }
        }
        String::new()
    }
}
