//! Draws the window: a top bar (open, the model, new chat), settings on the right (system
//! prompt, sampling), the conversation in the middle, the input and status at the bottom.

use crate::app::{Bubble, ChatApp, ModelState};
use eframe::egui::{self, Align, Color32, Layout, RichText};

pub fn draw(app: &mut ChatApp, ui: &mut egui::Ui) {
    top_bar(app, ui);
    settings(app, ui);
    bottom(app, ui);
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(fatal) = &app.fatal {
            ui.centered_and_justified(|ui| ui.label(RichText::new(fatal).color(ui.visuals().error_fg_color)));
            return;
        }
        conversation(app, ui);
        if ui.ctx().input(|i| !i.raw.hovered_files.is_empty()) {
            drop_hint(ui);
        }
    });
}

fn top_bar(app: &mut ChatApp, ui: &mut egui::Ui) {
    egui::Panel::top("top").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.heading("llama4-wgpu");
            ui.separator();
            let idle = !app.busy() && app.fatal.is_none();
            let idle = idle && !app.picking;
            if ui.add_enabled(idle, egui::Button::new("Open model…")).on_hover_text("a GGUF file").clicked() {
                app.pick(false, ui.ctx());
            }
            if ui
                .add_enabled(idle, egui::Button::new("Open folder…"))
                .on_hover_text("a Hugging Face checkpoint folder (config.json, safetensors, tokenizer)")
                .clicked()
            {
                app.pick(true, ui.ctx());
            }
            let can_clear = !app.busy() && !app.bubbles.is_empty();
            if ui.add_enabled(can_clear, egui::Button::new("New chat")).clicked() {
                app.new_chat();
            }
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                let (text, hover) = match &app.model {
                    ModelState::Ready(info) => (RichText::new(&info.name).strong(), info.path.display().to_string()),
                    ModelState::Loading { path, .. } => {
                        (RichText::new(format!("loading {}", file_name(path))), String::new())
                    }
                    ModelState::None => (RichText::new("no model").weak(), String::new()),
                };
                ui.add(egui::Label::new(text).truncate()).on_hover_text(hover);
            });
        });
        ui.add_space(2.0);
    });
}

fn settings(app: &mut ChatApp, ui: &mut egui::Ui) {
    egui::Panel::right("settings").resizable(false).default_size(250.0).show(ui, |ui| {
        ui.spacing_mut().slider_width = 100.0;
        ui.add_space(6.0);
        about(app, ui);
        ui.add_space(10.0);
        ui.strong("System prompt");
        ui.add_enabled(
            app.bubbles.is_empty(),
            egui::TextEdit::multiline(&mut app.system).hint_text("(none)").desired_rows(3),
        )
        .on_disabled_hover_text("set before the first message of a chat");
        ui.add_space(10.0);
        ui.strong("Sampling");
        let s = &mut app.sampling;
        egui::Grid::new("sampling").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
            ui.label("Temperature");
            ui.add(egui::Slider::new(&mut s.temperature, 0.0..=2.0).step_by(0.05));
            ui.end_row();
            ui.label("Top-k");
            ui.add(egui::DragValue::new(&mut s.top_k).range(0..=500)).on_hover_text("0: off");
            ui.end_row();
            ui.label("Top-p");
            ui.add(egui::Slider::new(&mut s.top_p, 0.05..=1.0).step_by(0.01));
            ui.end_row();
            ui.label("Seed");
            ui.add(egui::DragValue::new(&mut s.seed));
            ui.end_row();
            ui.label("Max tokens");
            ui.add(egui::DragValue::new(&mut app.max_tokens).range(1..=8192));
            ui.end_row();
        });
        ui.label(
            RichText::new(if app.sampling.temperature <= 0.0 {
                "greedy: the same answer every time"
            } else {
                "sampled"
            })
            .weak()
            .small(),
        );
        ui.add_space(10.0);
        ui.label(RichText::new("Settings apply to the next answer.").weak().small());
    });
}

/// The model and the device it shares with the window.
fn about(app: &ChatApp, ui: &mut egui::Ui) {
    ui.strong("Model");
    match &app.model {
        ModelState::Ready(info) => {
            ui.add(egui::Label::new(&info.name).wrap());
            let mib = info.weight_bytes as f64 / (1 << 20) as f64;
            ui.label(RichText::new(format!("{mib:.0} MiB of weights · {} positions", info.context)).weak().small());
        }
        ModelState::Loading { .. } => {
            ui.label(RichText::new("loading…").weak());
        }
        ModelState::None => {
            ui.label(RichText::new("none: open one, or drop a GGUF file here").weak());
        }
    }
    ui.add_space(6.0);
    ui.strong("GPU (shared with this window)");
    ui.add(egui::Label::new(RichText::new(&app.adapter).weak().small()).wrap());
}

fn bottom(app: &mut ChatApp, ui: &mut egui::Ui) {
    egui::Panel::bottom("input").show(ui, |ui| {
        ui.add_space(6.0);
        status_line(app, ui);
        ui.add_space(4.0);
        let id = egui::Id::unique("message");
        let ready = matches!(app.model, ModelState::Ready(_)) && app.streaming.is_none();
        if std::mem::take(&mut app.focus_input) {
            ui.memory_mut(|m| m.request_focus(id));
        }
        // Enter sends, Shift+Enter is a new line
        let enter =
            ui.memory(|m| m.has_focus(id)) && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter));
        ui.horizontal(|ui| {
            let button_w = 80.0;
            let edit = egui::TextEdit::multiline(&mut app.input)
                .id(id)
                .hint_text("Message (Enter to send, Shift+Enter for a new line)")
                .desired_rows(2)
                .desired_width(ui.available_width() - button_w - 8.0);
            ui.add(edit);
            ui.vertical_centered_justified(|ui| {
                if app.streaming.is_some() {
                    if ui.add_sized([button_w, 34.0], egui::Button::new("Stop")).clicked() {
                        app.stop();
                    }
                } else if ui
                    .add_enabled_ui(ready, |ui| ui.add_sized([button_w, 34.0], egui::Button::new("Send")))
                    .inner
                    .clicked()
                {
                    app.submit();
                }
            });
        });
        if enter && ready {
            app.submit();
            ui.memory_mut(|m| m.request_focus(id));
        }
        ui.add_space(6.0);
    });
}

fn status_line(app: &ChatApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        if let ModelState::Loading { path, fraction } = &app.model {
            ui.spinner();
            ui.add(egui::ProgressBar::new(*fraction).desired_width(ui.available_width().min(420.0)).text(format!(
                "loading {} · {:.0}%",
                file_name(path),
                fraction * 100.0
            )));
        } else if let Some(s) = &app.streaming {
            ui.spinner();
            match s.first_piece {
                None => ui.label(format!("reading the prompt… {:.1} s", s.started.elapsed().as_secs_f32())),
                Some(t) => {
                    let secs = t.elapsed().as_secs_f64().max(1e-3);
                    ui.label(format!("{} pieces · {:.1} tok/s", s.pieces, (s.pieces.saturating_sub(1)) as f64 / secs))
                }
            };
        } else if let Some(e) = &app.error {
            ui.label(RichText::new(e).color(ui.visuals().error_fg_color));
        } else {
            ui.label(RichText::new(&app.status).weak());
        }
    });
}

fn conversation(app: &mut ChatApp, ui: &mut egui::Ui) {
    if app.bubbles.is_empty() {
        welcome(app, ui);
        return;
    }
    egui::ScrollArea::vertical().stick_to_bottom(true).auto_shrink([false, false]).show(ui, |ui| {
        ui.add_space(8.0);
        let last = app.bubbles.len() - 1;
        for (i, b) in app.bubbles.iter().enumerate() {
            bubble(ui, b, i == last && app.streaming.is_some());
            ui.add_space(8.0);
        }
    });
}

/// The empty window: what to do next, with SmolLM2 a click away when the fetch tool put it in
/// the cache.
fn welcome(app: &mut ChatApp, ui: &mut egui::Ui) {
    let text = match &app.model {
        ModelState::Ready(info) => format!("{} is ready. Say something below.", info.name),
        ModelState::Loading { .. } => "Loading the model onto the GPU…".into(),
        ModelState::None => "Open a GGUF model (Open model…) or drop one on this window.".into(),
    };
    let cached = app.cached_smollm2.clone().filter(|_| matches!(app.model, ModelState::None) && app.fatal.is_none());
    ui.vertical_centered(|ui| {
        ui.add_space((ui.available_height() / 2.0 - 40.0).max(0.0));
        ui.label(RichText::new(text).size(16.0).weak());
        if let Some(path) = cached {
            ui.add_space(12.0);
            if ui.button(format!("Open {}", file_name(&path))).on_hover_text(path.display().to_string()).clicked() {
                app.open(path);
            }
        }
    });
}

fn bubble(ui: &mut egui::Ui, b: &Bubble, streaming: bool) {
    let max_width = (ui.available_width() * 0.78).max(200.0);
    let dark = ui.visuals().dark_mode;
    let fill = match (b.user, dark) {
        (true, true) => Color32::from_rgb(38, 70, 110),
        (true, false) => Color32::from_rgb(214, 230, 250),
        (false, true) => Color32::from_gray(40),
        (false, false) => Color32::from_gray(242),
    };
    // laid out first, so the bubble is as wide as its widest line (a right-aligned bubble would
    // otherwise stretch to the left edge)
    let text = if streaming { format!("{}…", b.text) } else { b.text.trim().to_string() };
    let lines: Vec<RichText> = [
        Some(RichText::new(if b.user { "You" } else { "Assistant" }).small().strong()),
        Some(RichText::new(text).size(15.0).color(ui.visuals().strong_text_color())),
        b.footer.as_ref().map(|f| RichText::new(f).small().weak()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let galleys: Vec<_> = lines
        .into_iter()
        .map(|t| {
            egui::WidgetText::from(t).into_galley(ui, Some(egui::TextWrapMode::Wrap), max_width, egui::TextStyle::Body)
        })
        .collect();
    let width = galleys.iter().map(|g| g.size().x).fold(0.0, f32::max).ceil();
    let layout = Layout::top_down(if b.user { Align::Max } else { Align::Min });
    ui.with_layout(layout, |ui| {
        egui::Frame::new().fill(fill).corner_radius(10.0).inner_margin(egui::Margin::symmetric(12, 8)).show(ui, |ui| {
            ui.set_width(width);
            ui.with_layout(Layout::top_down(Align::Min), |ui| {
                for g in galleys {
                    ui.label(g);
                }
            });
        });
    });
}

fn drop_hint(ui: &mut egui::Ui) {
    let rect = ui.max_rect();
    let painter = ui.ctx().layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("drop")));
    painter.rect_filled(rect, 0.0, Color32::from_black_alpha(160));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop to open the model",
        egui::FontId::proportional(22.0),
        Color32::WHITE,
    );
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}
