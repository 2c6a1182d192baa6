//! The timeline bar: a slider over the virtual time reached so far, Back,
//! Forward, Jump to the end, and Undo after acting in the past (see
//! `app::session::timeline`). It only renders and forwards actions.

use super::state::{Action, TRAVEL_STEP_MS};
use super::topology::format_ms;
use crate::app::session::View;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TravelProps {
    pub view: Rc<View>,
    pub dispatch: Callback<Action>,
}

#[function_component(Travel)]
pub fn travel(p: &TravelProps) -> Html {
    let v = &p.view;
    let refused = v.travel_refused;
    let (now_ms, head_ms) = (v.now_ms, v.head_ms.max(v.now_ms));
    let onchange = p.dispatch.reform(|e: Event| {
        let ms = super::controls::target_value(&e)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        Action::Seek(ms)
    });
    let send = |a: Action| p.dispatch.reform(move |_| a.clone());
    let step_s = TRAVEL_STEP_MS / 1000;
    html! {
        <section class="travel" aria-label="Timeline" title={refused.unwrap_or_default()}>
            <button disabled={refused.is_some() || now_ms == 0} onclick={send(Action::SeekBy(false))}
                title={format!("{step_s} s back")}>{ "Back" }</button>
            <label class="travel-slider">
                <span>{ "Time" }</span>
                <input type="range" min="0" max={head_ms.to_string()} step="1" value={now_ms.to_string()}
                    disabled={refused.is_some() || head_ms == 0} aria-label="Time"
                    aria-valuetext={format!("{} of {}", format_ms(now_ms), format_ms(head_ms))} {onchange} />
            </label>
            <button disabled={refused.is_some() || now_ms >= head_ms} onclick={send(Action::SeekBy(true))}
                title={format!("{step_s} s forward")}>{ "Forward" }</button>
            <button disabled={refused.is_some() || now_ms >= head_ms} onclick={send(Action::SeekEnd)}>{ "Jump to the end" }</button>
            if v.can_undo {
                <button onclick={send(Action::Undo)}
                    title="Bring back the future that acting in the past dropped">{ "Undo" }</button>
            }
            <span class="travel-clock">{ format!("{} of {}", format_ms(now_ms), format_ms(head_ms)) }</span>
        </section>
    }
}
